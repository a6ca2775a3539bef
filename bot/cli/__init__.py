"""The command line (`python -m bot …`): the parser, what each command does, the report
command.
"""

"""Who is who (the roster, linking chat users), and what each person sees first: home,
menu, help and their own settings.
"""

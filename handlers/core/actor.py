"""The person behind a request, as handlers see them: resolved by the adapter first."""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import Person, Role


@dataclass(frozen=True)
class Actor:
    id: int
    name: str
    role: Role
    municipality_id: int | None = None
    department: str | None = None
    is_approver: bool = False
    is_lead: bool = False
    is_admin: bool = False
    language: str = "ja"

    @classmethod
    def from_person(cls, person: Person, default_language: str = "ja") -> Actor:
        assert person.id is not None
        return cls(
            id=person.id,
            name=person.name,
            role=Role(person.role),
            municipality_id=person.municipality_id,
            department=person.department,
            is_approver=person.is_approver,
            is_lead=person.is_lead,
            is_admin=person.is_admin or person.role == Role.ADMIN,
            language=person.language or default_language,
        )

    @property
    def roles(self) -> frozenset[str]:
        """The role names the permission table speaks of."""
        names = {self.role.value}
        if self.is_approver:
            names.add("approver")
        if self.is_lead:
            names.add("lead")
        if self.is_admin:
            names.add("admin")
        return frozenset(names)

"""Roles of a verified actor (``{"sub": str, "roles": [str]}``, or None when anonymous)."""
from kernel.errors import Forbidden

STAFF_ROLES = ("editor", "admin")


def roles_of(actor) -> set:
    if not isinstance(actor, dict):
        return set()
    roles = actor.get("roles") or []
    return {role for role in roles if isinstance(role, str)} if isinstance(roles, (list, tuple)) else set()


def is_staff(actor) -> bool:
    return bool(roles_of(actor) & set(STAFF_ROLES))


def require_staff(actor) -> None:
    if not is_staff(actor):
        raise Forbidden("this needs an editor or admin")


def require_admin(actor) -> None:
    if "admin" not in roles_of(actor):
        raise Forbidden("this needs an admin")


def require_service(actor, service: str) -> None:
    """The call must come from ``service`` acting as itself (signed with that service's own key:
    no user token and no broker access can produce it)."""
    if not isinstance(actor, dict) or actor.get("issuer") != service or actor.get("sub") != service:
        raise Forbidden(f"only the {service} service may call this")


def actor_name(actor) -> str | None:
    if isinstance(actor, dict) and actor.get("sub"):
        return str(actor["sub"])[:200]
    return None

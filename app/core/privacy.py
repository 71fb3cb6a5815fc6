"""Display masking of personal data (SECURITY.md PRIV-02, GB/T 35273)."""

from __future__ import annotations


def mask_phone(phone: str) -> str:
    """13812341234 -> 138****1234."""
    if len(phone) != 11:
        return "****"
    return f"{phone[:3]}****{phone[7:]}"


def mask_room(room: str) -> str:
    """501 -> 5**: the floor stays readable, the door does not."""
    if not room:
        return ""
    return room[0] + "*" * (len(room) - 1)


def mask_name(name: str) -> str:
    """张三丰 -> 张**: the surname stays, the person is not named (public notices)."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)

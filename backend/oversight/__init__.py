"""Oversight: the statutory calendar's loading, complaints (R-CMP), and later supervision,
fault accountability and statistics. May read every domain; nothing imports it but the HTTP
rooms and the composition root."""

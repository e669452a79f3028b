"""Certificates of the register: issued on linked doses, revoked and reissued when a dose they rest on changes."""

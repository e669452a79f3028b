"""The demo: the whole flow on the embedded database, its users and its certificate round trip."""

"""Who may do what: sign-in, sessions and tokens, users and roles, citizens' one-time codes, and the counters shared by every server process."""

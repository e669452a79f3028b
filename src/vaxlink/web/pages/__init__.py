"""Server-rendered pages: small, keyboard- and scanner-friendly, Vietnamese first."""

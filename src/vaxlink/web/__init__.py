"""FastAPI application, API routers, HTML pages, authentication."""

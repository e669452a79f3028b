"""Operating the database: schema and reference data, the application's role, backups and integrity checks."""

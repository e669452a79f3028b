"""Reading the interchange files (CSV, Parquet, XLSX, JSON Lines, FHIR) as Arrow, row by row with line numbers."""

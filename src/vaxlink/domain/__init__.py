"""Pure rules and vocabulary of the domain. Imports nothing from the rest of the package and no framework."""

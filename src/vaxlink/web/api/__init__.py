"""The JSON API (`/api/v1`): the workbench's actions for programs, described by the OpenAPI document."""

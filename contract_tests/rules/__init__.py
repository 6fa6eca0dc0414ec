"""The contract rules: each test is named after the documented rule it checks."""

"""Suite-wide fixtures. Tests that need PostgreSQL use the server on 127.0.0.1:5432."""

"""Domain services: each function takes a session, returns plain results, raises typed errors."""

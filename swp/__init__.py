"""swp: run an employee-owned social work practice as a co-operative."""

__version__ = "0.1.0"

"""Framework-free foundations shared by every domain: settings, database, clock, money, errors, audit."""

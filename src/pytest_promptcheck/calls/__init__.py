"""Calls: planning an item's calls (a frozen ``Call`` each), their keys, and running them (engine, schedule, retry)."""

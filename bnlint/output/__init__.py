"""Formatters: turn lint results into text for people or JSON for tools."""

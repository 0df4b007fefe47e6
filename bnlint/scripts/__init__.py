"""Linting training scripts and notebooks: source -> AST -> script facts -> rules.

Scripts are parsed with `ast` and never imported or run. The pipeline lives in
`pipeline`; this package imports nothing, so that rules which only name script
types do not load the interpreter when linting a model.
"""

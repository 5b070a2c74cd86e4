"""Credential format plugins behind ``formats/base.py``: one package per format; formats never import each other."""

"""Reusable test machinery (fault injectors and the like) shared by several test packages."""

"""Doc pages -> spec -> derived schemas: the importer, the deriver and the loaded contract of each API."""

"""Model plugins (entry-point group ``fairmicro.models``) and their provenance."""

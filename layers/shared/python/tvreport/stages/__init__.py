"""Stage logic: plain functions that take their collaborators as arguments.
The thin handlers in lambdas/ build those collaborators once per container."""

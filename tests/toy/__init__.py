"""A small family defined only here, to prove that a family is added without editing any file outside its own."""

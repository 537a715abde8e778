"""``medata review``: the images a person should look at (quality problems, likely label errors)."""

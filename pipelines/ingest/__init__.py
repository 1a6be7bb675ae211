"""Read, repair and stage each delivered file; caseworkers' feedback files."""

"""The demo part: synthetic versions of the three sources (``synth``) and the steps of
``medata demo`` (``run``). The library never imports it; the CLI and the tests do."""

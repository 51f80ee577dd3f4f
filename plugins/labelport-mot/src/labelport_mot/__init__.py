"""MOTChallenge tracking formats for labelport: ``mot`` (box tracks, :mod:`labelport_mot.mot`)
and ``mots`` (segmentation tracks, :mod:`labelport_mot.mots`), one module per format id."""

"""Zoom videos: a chain of zoom-outs turned into one continuous zoom (POST /v2/videos/zoom).

`camera` places the chain's images in one coordinate system and moves a view through them,
`frames` composes each view from the sharpest image that covers it, and `encoder` streams the
frames into an MP4 or WebM file (PyAV, the `[video]` extra).
"""

"""Report-fed plugins, one class each, registered by :mod:`..options` when their flag is on."""

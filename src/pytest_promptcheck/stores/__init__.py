"""What answers a call besides a provider, and stored outputs: response cache, cassettes, snapshots."""

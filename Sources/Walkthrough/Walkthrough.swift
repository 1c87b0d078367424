/// Guided lessons inside the dashboard. See the walkthrough file format in `WalkthroughFile`.
public enum WalkthroughModule {}

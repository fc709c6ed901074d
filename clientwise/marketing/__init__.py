"""Marketing: audiences, campaigns with holdout control groups, measured lift, delivery that respects consent."""

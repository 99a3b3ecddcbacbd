"""speedy: the demo app of the employees/shifts and account-state flows."""

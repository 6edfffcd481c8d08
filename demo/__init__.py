"""A simulated outside world for the demo: storefront, warehouse and carriers on the contract topics."""

"""Reports: figure style, figures and tables from the estimates, notebook execution."""

"""Where deliveries come from: the contract, the landing folder, 身份证号, held folders."""

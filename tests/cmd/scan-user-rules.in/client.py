client = Acme(token="acme_Qm7vT2pLx9RkZ4nB8sWc3HjD6fYg1UaE")

"""Which models the API offers: the Models API's catalogue, cached in the state store per base
URL, or the packaged table when the API can't be asked. Above the API layer and the store."""

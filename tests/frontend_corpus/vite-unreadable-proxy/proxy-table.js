const services = ['metrics', 'alerts']
export const proxyTable = Object.fromEntries(
  services.map((name) => [`/${name}`, `http://127.0.0.1:9100/${name}`]),
)

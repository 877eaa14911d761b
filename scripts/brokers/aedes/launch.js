// Minimal aedes MQTT server for the mqtt-sim harness.
// Usage: node launch.js PORT CONFIG.json
// CONFIG.json is a JSON object whose keys are passed verbatim as aedes
// options (see node_modules/aedes/docs/Aedes.md), e.g. {"keepaliveLimit": 0}.
// Listens on 127.0.0.1:PORT only; in-memory persistence (state is lost on kill).
import net from 'node:net'
import fs from 'node:fs'
import { Aedes } from 'aedes'

const [portArg, configPath] = process.argv.slice(2)
const port = Number(portArg)
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node launch.js PORT [CONFIG.json]')
  process.exit(2)
}
const opts = configPath ? JSON.parse(fs.readFileSync(configPath, 'utf8')) : {}

const broker = await Aedes.createBroker(opts)
broker.on('clientError', (client, err) => {
  console.error('aedes clientError', client && client.id, err.message)
})
broker.on('connectionError', (client, err) => {
  console.error('aedes connectionError', err.message)
})

const server = net.createServer(broker.handle)
server.on('error', (err) => {
  console.error('aedes listen error:', err.message)
  process.exit(1)
})
server.listen(port, '127.0.0.1', () => {
  console.log(`aedes ${broker.version} listening on 127.0.0.1:${port} options=${JSON.stringify(opts)}`)
})

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close()
    broker.close(() => process.exit(0))
    setTimeout(() => process.exit(0), 1000).unref()
  })
}

import '../polyfill.js'
import { main } from './index.js'

const code = await main()
// `start` keeps running until a signal; every other command ends here
if (code !== 0 || !process.argv.slice(2).includes('start')) process.exitCode = process.exitCode ?? code

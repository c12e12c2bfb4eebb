/**
 * `npm run generate:lua`: writes the minified scripts the library ships (see
 * scripts/lua/minified-module.ts) after a change to the readable Lua.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { MINIFIED_MODULE_PATH, minifiedModuleText } from './lua/minified-module';

const target = path.join(__dirname, '..', MINIFIED_MODULE_PATH);
writeFileSync(target, minifiedModuleText());
process.stdout.write(`wrote ${MINIFIED_MODULE_PATH}\n`);

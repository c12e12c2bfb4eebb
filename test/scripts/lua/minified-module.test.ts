/**
 * The minified scripts the library ships are made from the readable Lua: the committed file is
 * exactly what the generator writes now, so an edit to the sources without `npm run
 * generate:lua` fails here (every other Redis test runs the shipped, minified text).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MINIFIED_MODULE_PATH, minifiedModuleText } from '../../../scripts/lua/minified-module';

it('the committed minified scripts are what `npm run generate:lua` writes from the sources', () => {
  const committed = readFileSync(path.join(__dirname, '../../..', MINIFIED_MODULE_PATH), 'utf8');
  expect(committed).toBe(minifiedModuleText());
});

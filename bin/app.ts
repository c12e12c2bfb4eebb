#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { selectEnvironment } from '../lib/config';
import { buildRateLimitApp } from '../lib/app';

// `-c env=NAME` picks one committed, typed environment (lib/config/environments.ts) -> its stacks.
const app = new App();
buildRateLimitApp(app, selectEnvironment(app.node));

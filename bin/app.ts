#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { loadDeploymentConfig } from '../lib/config';
import { buildRateLimitApp } from '../lib/app';

// Typed config (lib/config.ts) plus `-c key=value` overrides -> both stacks.
const app = new App();
buildRateLimitApp(app, loadDeploymentConfig(app.node));

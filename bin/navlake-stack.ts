#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { NavlakeStack } from '../lib/navlake-stack.ts';

const app = new App();
new NavlakeStack(app, 'Navlake');
// Any unacknowledged AwsSolutions finding fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

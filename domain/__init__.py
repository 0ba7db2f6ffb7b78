"""Partnerhub business rules: plain Python, no AWS, no GraphQL.

Everything here takes the current time as a parameter; nothing reads the clock.
"""

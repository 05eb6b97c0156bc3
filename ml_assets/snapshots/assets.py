"""placeholder until assets land"""
